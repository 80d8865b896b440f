import IRNCommands
CommandMain.run(IRNRoot.self)
