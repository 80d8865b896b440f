import IRNCommands
CommandMain.run(ActorCommand.self)
