"""FMUs: importing a vehicle team's FMU as a component, and building our own from C."""
