"""AI story generation: its request queue, rate limit, draft reviews, look-alikes and form."""
