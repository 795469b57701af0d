"""Dramatiq workers and the notification channels they deliver through."""
