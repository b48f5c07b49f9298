from rest_framework.routers import DefaultRouter

from reference.api import views

router = DefaultRouter()
router.register("organisations", views.OrganisationViewSet)
router.register("sites", views.SiteViewSet)
router.register("submitting-arrangements", views.SubmittingArrangementViewSet)
router.register("code-lists", views.CodeListViewSet)
router.register("codes", views.CodeViewSet)
router.register("snomed-concepts", views.SnomedConceptViewSet)
router.register("nicip-codes", views.NicipCodeViewSet)
router.register("reference-releases", views.ReferenceReleaseViewSet)

urlpatterns = router.urls
