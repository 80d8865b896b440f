// The ZeroMQ module; its contents arrive with its issue.
