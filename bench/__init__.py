"""`make bench`: the dashboard figures timed against a naive pandas version and a bare SQL floor."""
