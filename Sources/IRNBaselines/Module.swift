// The IRNBaselines module; its contents arrive with its issue.
