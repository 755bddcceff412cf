"""REST endpoints under /api/v1/, split by sub-domain; budgets/api_urls.py registers them."""
