SkiffCommand.main()
