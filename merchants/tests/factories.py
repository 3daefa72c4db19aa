import factory
from django.contrib.auth import get_user_model

from merchants.models import BrandingTemplate, Merchant
from merchants.services import membership_grant, merchant_save


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    merchant_id = factory.Sequence(lambda n: f"MER-01-{n:05d}")
    name = factory.Sequence(lambda n: f"Merchant {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service, so a factory merchant starts like a real one (default rules).
        return merchant_save(merchant=model_class(*args, **kwargs), is_new=True)


class BrandingTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandingTemplate

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"TEMPLATE_{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


def member_of(merchant: Merchant, role: str):
    user = UserFactory()
    membership_grant(user=user, merchant=merchant, role=role)
    return user
