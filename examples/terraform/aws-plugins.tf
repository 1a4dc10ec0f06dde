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

# Optional: end DRAIN_DELAY once the replacements are in service, instead of always waiting it out
# (docs/aws.md, "DRAIN_DELAY_UNTIL=replacements"). The trade-off: a rolling update then stops each
# old task DISCOVERY_PROPAGATION (the Cloud Map service's DNS TTL, or 15 s) after its replacements
# are healthy in Cloud Map, rather than after a fixed 40 s; that is only as safe as that time is
# long enough for your callers to learn about new tasks. It costs five read-only permissions and a
# few AWS calls per stopped task; any AWS failure lets DRAIN_DELAY run in full. Needs
# cloud_map_service_id.
variable "drain_delay_until_replacements" {
  description = "Set DRAIN_DELAY_UNTIL=replacements on the helper and give the task role the reads it needs"
  type        = bool
  default     = false
}

variable "ecs_cluster_name" {
  description = "The ECS cluster the service runs in (for drain_delay_until_replacements)"
  type        = string
  default     = "default"
}

variable "ecs_service_name" {
  description = "The ECS service whose tasks these are (for drain_delay_until_replacements)"
  type        = string
  default     = "orders"
}

variable "cloud_map_namespace_id" {
  description = "The Cloud Map service's namespace (ns-…), for drain_delay_until_replacements"
  type        = string
  default     = null
}

variable "cloud_map_namespace_name" {
  description = "That namespace's name (its HttpName), which DiscoverInstances is narrowed to"
  type        = string
  default     = null
}

variable "cloud_map_service_name" {
  description = "The Cloud Map service's name, which DiscoverInstances is narrowed to"
  type        = string
  default     = null
}

data "aws_caller_identity" "current" {}

locals {
  cloud_map_service_arn = var.cloud_map_service_id == null ? null : "arn:aws:servicediscovery:${var.aws_region}:${data.aws_caller_identity.current.account_id}:service/${var.cloud_map_service_id}"

  helper_aws_environment = concat(
    var.cloud_map_service_id == null ? [] : [{ name = "CLOUD_MAP_SERVICE_ID", value = var.cloud_map_service_id }],
    var.drain_delay_until_replacements ? [{ name = "DRAIN_DELAY_UNTIL", value = "replacements" }] : [],
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

# DRAIN_DELAY_UNTIL=replacements: what it reads at the stop. GetService is in the drain policy above.
resource "aws_iam_role_policy" "drain_delay_until" {
  count = var.drain_delay_until_replacements ? 1 : 0
  name  = "task-helper-drain-delay-until"
  role  = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadOwnTaskAndReplacements"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTasks"]
        Resource = ["arn:aws:ecs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:task/${var.ecs_cluster_name}/*"]
      },
      {
        Sid      = "ReadEcsService"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices"]
        Resource = ["arn:aws:ecs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:service/${var.ecs_cluster_name}/${var.ecs_service_name}"]
      },
      {
        Sid      = "ReadCloudMapNamespace"
        Effect   = "Allow"
        Action   = ["servicediscovery:GetNamespace"]
        Resource = ["arn:aws:servicediscovery:${var.aws_region}:${data.aws_caller_identity.current.account_id}:namespace/${var.cloud_map_namespace_id}"]
      },
      {
        # DiscoverInstances takes no resource ARN: its condition keys narrow it to the one service.
        Sid      = "DiscoverReplacements"
        Effect   = "Allow"
        Action   = ["servicediscovery:DiscoverInstances"]
        Resource = ["*"]
        Condition = {
          StringEquals = {
            "servicediscovery:NamespaceName" = var.cloud_map_namespace_name
            "servicediscovery:ServiceName"   = var.cloud_map_service_name
          }
        }
      },
    ]
  })

  lifecycle {
    precondition {
      condition     = var.cloud_map_service_id != null && var.cloud_map_namespace_id != null && var.cloud_map_namespace_name != null && var.cloud_map_service_name != null
      error_message = "drain_delay_until_replacements needs cloud_map_service_id, cloud_map_namespace_id, cloud_map_namespace_name and cloud_map_service_name."
    }
  }
}
