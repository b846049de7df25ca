"""Developer and CI tooling (benchmarks, plan review); no cdktf import."""
