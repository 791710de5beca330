pytest_plugins = ["pgpcodec.testing.plugin"]
