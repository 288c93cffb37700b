"""What a plan means for the sales numbers: quotas that follow territory potential and the
expected win rate of an assignment. Plain functions over the canonical frames, below both the
planning loop (which reports them for every pass) and the what-if scenarios."""
