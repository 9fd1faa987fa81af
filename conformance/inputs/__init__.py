"""The reviewed input files a run reads besides the battery: the manifests of known deviations, and the
validation of every TOML input (manifests, claims files) with the line of each problem.
"""
