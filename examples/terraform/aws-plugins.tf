# The AWS plugins (docs/aws.md): leave the Cloud Map service and the target groups in the drain.
# Off with the defaults: set cloud_map_service_id and/or target_group_arns to turn them on. Their
# settings join the helper's environment, and the task role gets only the permissions they use.

variable "cloud_map_service_id" {
  description = "The Cloud Map service the ECS service registers its tasks in (srv-…), or null"
  type        = string
  default     = null
}

variable "target_group_arns" {
  description = "The ip target groups the ECS service registers its tasks in"
  type        = list(string)
  default     = []
}

variable "target_port" {
  description = "The containerPort of the service's loadBalancers"
  type        = number
  default     = 8080
}

data "aws_caller_identity" "current" {}

locals {
  cloud_map_service_arn = var.cloud_map_service_id == null ? null : "arn:aws:servicediscovery:${var.aws_region}:${data.aws_caller_identity.current.account_id}:service/${var.cloud_map_service_id}"

  helper_aws_environment = concat(
    var.cloud_map_service_id == null ? [] : [{ name = "CLOUD_MAP_SERVICE_ID", value = var.cloud_map_service_id }],
    length(var.target_group_arns) == 0 ? [] : [
      { name = "TARGET_GROUP_ARNS", value = join(",", var.target_group_arns) },
      { name = "TARGET_PORT", value = tostring(var.target_port) },
    ],
  )

  # Every statement has the same shape (lists for Action and Resource), so the conditionals type-check.
  drain_statements = concat(
    var.cloud_map_service_id == null ? [] : [
      {
        Sid      = "LeaveCloudMapService"
        Effect   = "Allow"
        Action   = ["servicediscovery:DeregisterInstance", "servicediscovery:UpdateInstanceCustomHealthStatus", "servicediscovery:GetService"]
        Resource = [local.cloud_map_service_arn]
      },
      { Sid = "FollowCloudMapOperation", Effect = "Allow", Action = ["servicediscovery:GetOperation"], Resource = ["*"] },
      {
        Sid      = "CloudMapRoute53HealthChecks"
        Effect   = "Allow"
        Action   = ["route53:GetHealthCheck", "route53:DeleteHealthCheck", "route53:UpdateHealthCheck"]
        Resource = ["arn:aws:route53:::healthcheck/*"]
      },
    ],
    length(var.target_group_arns) == 0 ? [] : [
      { Sid = "LeaveTargetGroups", Effect = "Allow", Action = ["elasticloadbalancing:DeregisterTargets"], Resource = var.target_group_arns },
      # Describe actions take no resource ARN.
      { Sid = "WatchTargetHealth", Effect = "Allow", Action = ["elasticloadbalancing:DescribeTargetHealth"], Resource = ["*"] },
    ],
  )
}

# The task role: the helper's AWS SDK finds it through the default credential chain.
resource "aws_iam_role" "task" {
  name_prefix = "${local.task.family}-task-"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "drain" {
  count  = length(local.drain_statements) == 0 ? 0 : 1
  name   = "task-helper-drain"
  role   = aws_iam_role.task.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.drain_statements })
}
