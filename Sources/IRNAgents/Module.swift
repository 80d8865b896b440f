// The IRNAgents module; its contents arrive with its issue.
