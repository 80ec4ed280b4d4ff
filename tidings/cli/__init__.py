"""The command line: thin click commands over the library, one ROOT convention, one error mapping."""
