"""Personal data: national ID validation, masking, encryption at rest and keyed lookup."""
