from regmed.cli import main

main()
