"""The library search: free text over a cache's videos with a trained run, its rows, its bounds."""
