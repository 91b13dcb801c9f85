"""Neural-network building blocks and the registered backbone families."""
