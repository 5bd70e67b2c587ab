# A scheduled Lambda that runs its job once per tick even when EventBridge delivers a tick twice
# or several schedules overlap: the handler (examples/lambda_scheduled/handler.py) takes the
# lease on the table the dynamodb module creates, with the module's least-privilege policy.

module "leases" {
  source = "../../dynamodb"

  name                               = "${var.name}-leases"
  lease_name_prefixes                = [var.lease_name]
  server_side_encryption_kms_key_arn = var.kms_key_arn
  deletion_protection_enabled        = var.deletion_protection_enabled
  tags                               = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Where the handler writes its result, fenced: one TransactWriteItems with a ConditionCheck on
# the lease item (allowed by the module's policy) and a PutItem here.
resource "aws_dynamodb_table" "results" {
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) capacity needs no auto scaling.
  name                        = "${var.name}-results"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

data "aws_iam_policy_document" "results" {
  statement {
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.results.arn]
  }
}

resource "aws_iam_role_policy" "results" {
  name   = "results"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.results.json
}

resource "aws_iam_role_policy" "leases" {
  name   = "cloudlease"
  role   = aws_iam_role.this.id
  policy = module.leases.iam_policy_json
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
  statement {
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A failed tick is not replayed from a queue on purpose: the next scheduled tick runs the job again.
  #checkov:skip=CKV_AWS_117:The function talks to DynamoDB only, over its public endpoint with IAM; put it in a VPC (with a DynamoDB gateway endpoint) if your policy requires.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile of your own; add code_signing_config_arn when you have one.
  function_name = var.name
  role          = aws_iam_role.this.arn
  filename      = var.lambda_zip_path
  handler       = "handler.handler"
  runtime       = "python3.12"
  timeout       = var.timeout_seconds
  kms_key_arn   = var.kms_key_arn

  source_code_hash = filebase64sha256(var.lambda_zip_path)

  # The lease makes overlapping runs harmless; this only bounds the cost of a burst.
  reserved_concurrent_executions = 2

  environment {
    variables = {
      CLOUDLEASE_STORE = module.leases.store_url
      CLOUDLEASE_LEASE = var.lease_name
      RESULTS_TABLE    = aws_dynamodb_table.results.name
    }
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.logs, aws_iam_role_policy.leases, aws_iam_role_policy.results]
}

resource "aws_cloudwatch_event_rule" "this" {
  name                = var.name
  description         = "Tick for ${var.name} (cloudlease runs it once per tick)"
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule = aws_cloudwatch_event_rule.this.name
  arn  = aws_lambda_function.this.arn
}

resource "aws_lambda_permission" "this" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}
