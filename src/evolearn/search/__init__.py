"""The evolutionary search shared by both families: ranking, reproduction and the loop."""
