# The defaults are the JSON example's values (terraform.test.ts checks it), so a plan with no
# overrides registers exactly examples/ecs/task-definition.json.

variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "app_image" {
  type    = string
  default = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:latest"
}

variable "envoy_image" {
  description = "The sidecar image built from examples/envoy (the official Envoy with its bootstrap baked in)"
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-envoy:1.40.0"
}

variable "helper_image" {
  description = "task-helper, or an image built FROM it with your config and plugins (see examples/custom-plugin)"
  type        = string
  default     = "task-helper:latest"
}

variable "log_group_name" {
  type    = string
  default = "/ecs/orders"
}

variable "log_retention_days" {
  type    = number
  default = 30
}

variable "execution_role_arn" {
  description = "Lets ECS pull the images and write to the log group"
  type        = string
}
