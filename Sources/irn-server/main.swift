import IRNCommands
CommandMain.run(ServerCommand.self)
