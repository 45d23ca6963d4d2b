"""Model instances from hand-written SQL on the hottest request paths.

``Model.objects.raw`` resolves columns, converters and the model's init order for every query,
which costs more than the query itself on a request that needs one row. Here the columns are
chosen once: the fields whose database value ``Field.to_python`` alone turns into the Python value
(numbers, text, booleans, foreign keys). Other fields (dates, JSON) are left deferred: Django
reads them with one more query if they are ever used.
"""
from django.db import connections, models

PLAIN_FIELDS = (models.IntegerField, models.BooleanField, models.CharField, models.TextField, models.FloatField,
                models.ForeignKey)


class RowReader:
    """Read instances of one model from rows that start with its plain columns."""

    def __init__(self, model, alias: str):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if isinstance(f, PLAIN_FIELDS)]
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        quote = connections[model.objects.db].ops.quote_name
        self.columns = ", ".join(f"{alias}.{quote(f.column)}" for f in self.fields)  # the SELECT list

    def fetch_one(self, sql: str, params: list) -> tuple | None:
        """Run a query on the model's database and return (instance, the row's remaining values), or None."""
        connection = connections[self.model.objects.db]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = [field.to_python(value) for field, value in zip(self.fields, row, strict=False)]
        return self.model.from_db(connection.alias, self.attnames, values), row[self.width:]
