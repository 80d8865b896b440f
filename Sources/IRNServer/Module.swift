// The IRNServer module; its contents arrive with its issue.
