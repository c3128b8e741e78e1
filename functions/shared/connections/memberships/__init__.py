"""Who may use an organization's stations: organizations and their admins, connections and their codes,
drivers' requests and the admins' decisions, the membership's states, and confirming an address in a
connection's email domains."""
