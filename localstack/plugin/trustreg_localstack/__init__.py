"""trustreg's LocalStack plugins for host mode (no Docker): see localstack/README.md."""
