locals {
  # What cloudlease-dynamodb calls on the table (cloudlease_dynamodb.schema.IAM_ACTIONS):
  # acquire/renew/release are UpdateItem (an acquire of an item already seen: PutItem), get is
  # GetItem, fenced writes add a ConditionCheck inside the caller's TransactWriteItems, and
  # list (cloudlease status) is Scan.
  item_actions = [
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
  ]
  list_actions = ["dynamodb:Scan"]
  # What `cloudlease init` needs in addition (cloudlease_dynamodb.schema.INIT_IAM_ACTIONS).
  init_actions = [
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
  ]

  table_arn = try(aws_dynamodb_table.this[0].arn, null)
  # arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME
  region = try(split(":", local.table_arn)[3], null)

  # Non-default attribute names travel in the URL, so the store reads the table it was given.
  url_options = concat(
    ["region=${coalesce(local.region, "-")}"],
    var.partition_key == "name" ? [] : ["partition_key=${urlencode(var.partition_key)}"],
    var.ttl_attribute == "purge_at" ? [] : ["ttl_attribute=${urlencode(var.ttl_attribute)}"],
  )
  store_url = var.create ? "dynamodb://${var.name}?${join("&", local.url_options)}" : null

  item_statement = merge(
    {
      Sid      = "CloudleaseLeaseItems"
      Effect   = "Allow"
      Action   = local.item_actions
      Resource = local.table_arn
    },
    length(var.lease_name_prefixes) == 0 ? {} : {
      Condition = {
        "ForAllValues:StringLike" = {
          "dynamodb:LeadingKeys" = [for prefix in var.lease_name_prefixes : "${prefix}*"]
        }
        # ForAllValues is true when the key is absent: require it.
        Null = { "dynamodb:LeadingKeys" = "false" }
      }
    },
  )
  statements = concat(
    [local.item_statement],
    var.list_enabled ? [{
      Sid      = "CloudleaseListLeases"
      Effect   = "Allow"
      Action   = local.list_actions
      Resource = local.table_arn
    }] : [],
    var.init_permissions_enabled ? [{
      Sid      = "CloudleaseInitTable"
      Effect   = "Allow"
      Action   = local.init_actions
      Resource = local.table_arn
    }] : [],
  )
  iam_policy_json = var.create ? jsonencode({ Version = "2012-10-17", Statement = local.statements }) : null
}

resource "aws_dynamodb_table" "this" {
  count = var.create ? 1 : 0

  name           = var.name
  billing_mode   = var.billing_mode
  read_capacity  = var.billing_mode == "PROVISIONED" ? var.read_capacity : null
  write_capacity = var.billing_mode == "PROVISIONED" ? var.write_capacity : null
  hash_key       = var.partition_key

  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = var.partition_key
    type = "S"
  }

  ttl {
    enabled        = var.ttl_enabled
    attribute_name = var.ttl_enabled ? var.ttl_attribute : ""
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.server_side_encryption_kms_key_arn
  }

  tags = var.tags
}
