from farmbuild.cli import entry

entry()
