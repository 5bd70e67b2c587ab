# Shared by every test root module (tests/terraform copies this file into each of them): the
# AWS provider pointed at a moto server on loopback, and the variables every root takes.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "endpoint" {
  description = "The moto server, e.g. http://127.0.0.1:5000 (loopback only)."
  type        = string

  validation {
    condition     = can(regex("^http://127\\.0\\.0\\.1:[0-9]+$", var.endpoint))
    error_message = "The test root module only talks to a server on 127.0.0.1."
  }
}

variable "name_prefix" {
  description = "Prefix of the tables and buckets this run creates."
  type        = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    dynamodb = var.endpoint
    s3       = var.endpoint
    iam      = var.endpoint
    sts      = var.endpoint
  }
}
