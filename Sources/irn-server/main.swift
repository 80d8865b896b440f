import IRNCommands
ServerCommand.main()
