"""Marketing's routes: `api_urlpatterns` under /api/v1/, `urlpatterns` for pages."""

from django.urls import path

from applications.marketing import api, views

api_urlpatterns = [
    path("marketing/templates/", api.TemplateListApi.as_view(), name="marketing-template-list"),
    path("marketing/templates/<slug:slug>/", api.TemplateDetailApi.as_view(), name="marketing-template-detail"),
    path("marketing/brand-voices/", api.BrandVoiceListApi.as_view(), name="marketing-brand-voice-list"),
    path("marketing/brand-voices/<int:pk>/", api.BrandVoiceDetailApi.as_view(), name="marketing-brand-voice-detail"),
    path("marketing/generations/", api.GenerationListApi.as_view(), name="marketing-generation-list"),
    path("marketing/generations/<int:pk>/", api.GenerationDetailApi.as_view(), name="marketing-generation-detail"),
    path(
        "marketing/generations/<int:pk>/export/", api.GenerationExportApi.as_view(), name="marketing-generation-export"
    ),
    path(
        "marketing/generations/<int:pk>/send-to-labeling/",
        api.GenerationSendToLabelingApi.as_view(),
        name="marketing-generation-send-to-labeling",
    ),
    path("marketing/variants/<int:pk>/", api.VariantDetailApi.as_view(), name="marketing-variant-detail"),
    path("marketing/variants/<int:pk>/review/", api.VariantReviewApi.as_view(), name="marketing-variant-review"),
    path(
        "marketing/variants/<int:pk>/regenerate/",
        api.VariantRegenerateApi.as_view(),
        name="marketing-variant-regenerate",
    ),
]

urlpatterns = [
    path("marketing/", views.creator_page, name="marketing"),
]
