import IRNCommands
ActorCommand.main()
