locals {
  bucket_arn = "arn:aws:s3:::${var.bucket}"
  # What cloudlease-s3 calls (cloudlease_s3.IAM_ACTIONS), on the prefix only; DeleteObject for
  # `cloudlease init`'s write check and deleting a record by hand.
  statements = [
    {
      Sid      = "LeaseObjects"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource = ["${local.bucket_arn}/${var.prefix}*"]
    },
    {
      Sid       = "ListLeases"
      Effect    = "Allow"
      Action    = ["s3:ListBucket"]
      Resource  = [local.bucket_arn]
      Condition = { StringLike = { "s3:prefix" = ["${var.prefix}*"] } }
    },
  ]
  iam_policy_json = var.create ? jsonencode({ Version = "2012-10-17", Statement = local.statements }) : null
  region          = try(aws_s3_bucket.this[0].region, null)
  store_url       = var.create ? "s3://${var.bucket}/${var.prefix}?region=${local.region}" : null
}

resource "aws_s3_bucket" "this" {
  count = var.create ? 1 : 0

  bucket        = var.bucket
  force_destroy = var.force_destroy_enabled
  tags          = var.tags

  # checkov:skip=CKV_AWS_21:Versioning would keep a noncurrent version per renewal (every ttl/3); lease objects are rewritten state, not data to recover.
  # checkov:skip=CKV_AWS_144:Cross-region replication does not apply: a lease is only meaningful in the region its holders use.
  # checkov:skip=CKV_AWS_18:Access logging is left to the account's CloudTrail data events; a log bucket per lease bucket is not this module's call.
  # checkov:skip=CKV2_AWS_62:Event notifications serve no purpose on lease objects.
  # checkov:skip=CKV_AWS_145:SSE-S3 by default; pass kms_key_arn for a customer-managed key.
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "cloudlease-abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "cloudlease-expire-idle-leases"
    status = var.lifecycle_enabled ? "Enabled" : "Disabled"
    filter {
      prefix = var.prefix
    }
    expiration {
      days = var.lifecycle_expiration_days
    }
  }
}
