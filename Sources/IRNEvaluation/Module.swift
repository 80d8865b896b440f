// The IRNEvaluation module; its contents arrive with its issue.
