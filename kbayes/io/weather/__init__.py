"""Live weather clients (Visual Crossing, api.weather.gov, IEM) and the 5-minute poller."""
