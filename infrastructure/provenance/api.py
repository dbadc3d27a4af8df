"""Provenance API: one record by id (its owner, staff and operators; 404 for anyone else)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from infrastructure.provenance.selectors import provenance_get
from infrastructure.provenance.serializers import ProvenanceRecordSerializer


class ProvenanceDetailApi(APIView):
    @extend_schema(
        responses={
            200: ProvenanceRecordSerializer,
            404: OpenApiResponse(description="No such record, or not one the caller may see."),
        }
    )
    def get(self, request, pk):
        """What made a generated artifact: the generator version, the request's SHA-256 (over its canonical
        JSON), when, for whom, and the job. The id is the one exports and images carry in their metadata."""
        return Response(ProvenanceRecordSerializer(provenance_get(user=request.user, record_id=pk)).data)
