// The IRNNumerics module; its contents arrive with its issue.
