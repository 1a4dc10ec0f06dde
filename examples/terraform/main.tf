# Registers examples/ecs/task-definition.json as it is, so the JSON and Terraform cannot drift:
# Terraform only swaps in the images, the log group and the roles, which differ per environment.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
}

locals {
  task = jsondecode(file("${path.module}/../ecs/task-definition.json"))

  # Keyed by container name: a container the map does not name fails the plan with "Invalid index".
  images = {
    app           = var.app_image
    envoy         = var.envoy_image
    "task-helper" = var.helper_image
  }

  containers = [
    for c in local.task.containerDefinitions : merge(c, {
      image = local.images[c.name]
      logConfiguration = merge(c.logConfiguration, {
        options = merge(c.logConfiguration.options, {
          "awslogs-group"  = aws_cloudwatch_log_group.task.name
          "awslogs-region" = var.aws_region
        })
      })
      # The AWS plugins' settings (aws-plugins.tf), for the helper only.
      environment = c.name == "task-helper" ? concat(c.environment, local.helper_aws_environment) : lookup(c, "environment", [])
    })
  ]
}

resource "aws_cloudwatch_log_group" "task" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_task_definition" "task" {
  family                   = local.task.family
  network_mode             = local.task.networkMode
  requires_compatibilities = local.task.requiresCompatibilities
  cpu                      = local.task.cpu
  memory                   = local.task.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.containers)
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.task.arn
}
