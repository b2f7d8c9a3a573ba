"""The three evidence panes: CloudTrail, CloudWatch metrics, VPC flow logs."""
