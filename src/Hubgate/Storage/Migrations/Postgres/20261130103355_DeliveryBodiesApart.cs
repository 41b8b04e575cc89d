using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class DeliveryBodiesApart : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "webhook_delivery_bodies",
                columns: table => new
                {
                    DeliveryPk = table.Column<long>(type: "bigint", nullable: false),
                    Body = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_delivery_bodies", x => x.DeliveryPk);
                    table.ForeignKey(
                        name: "FK_webhook_delivery_bodies_webhook_deliveries_DeliveryPk",
                        column: x => x.DeliveryPk,
                        principalTable: "webhook_deliveries",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            // Every stored body moves to the new table before the column goes.
            migrationBuilder.Sql(
                "INSERT INTO webhook_delivery_bodies (\"DeliveryPk\", \"Body\") SELECT \"Id\", \"Body\" FROM webhook_deliveries;");

            migrationBuilder.DropColumn(
                name: "Body",
                table: "webhook_deliveries");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "Body",
                table: "webhook_deliveries",
                type: "bytea",
                nullable: false,
                defaultValue: new byte[0]);

            migrationBuilder.Sql(
                "UPDATE webhook_deliveries SET \"Body\" = (SELECT b.\"Body\" FROM webhook_delivery_bodies b WHERE b.\"DeliveryPk\" = webhook_deliveries.\"Id\");");

            migrationBuilder.DropTable(
                name: "webhook_delivery_bodies");
        }
    }
}
