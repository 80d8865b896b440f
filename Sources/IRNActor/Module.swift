// The IRNActor module; its contents arrive with its issue.
