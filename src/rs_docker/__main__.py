from rs_docker.cli.main import main

main()
