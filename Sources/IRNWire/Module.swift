// The IRNWire module; its contents arrive with its issue.
