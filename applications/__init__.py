"""Application layer: marketing copy and courseware for content creators."""
