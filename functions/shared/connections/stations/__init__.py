"""Where a driver may charge: access policies, stations and drivers' cards, the allow lists that bring
decisions to the chargers (OCPP over IoT Core), the map and the access answers."""
