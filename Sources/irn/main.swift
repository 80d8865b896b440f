import IRNCommands
IRNRoot.main()
