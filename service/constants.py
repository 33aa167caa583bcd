"""Names shared by the command line and the settings, importable without the server dependencies."""

CONFIG_FILE_ENV = "VPO_CONFIG_FILE"
SERVER_EXTRA_HINT = "the service needs its dependencies: pip install 'vpo-rewards[server]'"
