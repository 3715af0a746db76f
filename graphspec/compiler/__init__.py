"""graphspec.compiler: IR, static checks, passes and backends."""
